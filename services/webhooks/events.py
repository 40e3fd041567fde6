"""Events the webhooks service publishes, registered once in the catalogue (docs/events.md).

None yet: `webhook.test`, `webhook.exhausted` and `webhook.endpoint_disabled` come with delivery
(issue 20, items 3-4). An event another service consumes is a contract: its payload lives in
`shared/contracts/`.
"""

PRODUCER = "webhooks"
