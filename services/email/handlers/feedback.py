"""Records SES feedback (deliveries, bounces, complaints, opens, clicks) from the feedback queue.

Each SQS message is an EventBridge event from SES (`source: aws.ses`, the configuration set's
destination), tagged with our tenant and message id; partial batch failures.
"""

from services.email.feedback import handle_event
from services.email.settings import EmailSettings
from shared.entry import bodies_entry

handler = bodies_entry(EmailSettings, handle_event)
