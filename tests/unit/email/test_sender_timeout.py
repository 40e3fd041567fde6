"""Feedback knows the sender's timeout (template.yaml): a Send proof settles a mail by itself only
once the mail's claim is older than it, when no live sender can still record the mail."""

from __future__ import annotations

from infra.template import build_stack, find_project_root, translate


def test_the_feedback_function_is_given_the_senders_timeout() -> None:
    stack = build_stack(translate(find_project_root()))
    sender, feedback = stack.functions["EmailSenderFunction"], stack.functions["EmailFeedbackFunction"]
    assert float(feedback.environment["SENDER_TIMEOUT_SECONDS"]) == sender.timeout
