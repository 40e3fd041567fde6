"""Consumes the events routed to the scanner service (template.yaml's ScannerEventsRule)."""

from services.scanner.settings import ScannerSettings
from services.scanner.subscriptions import handlers
from shared.entry import consumer_entry

CONSUMER = "scanner"

handler = consumer_entry(ScannerSettings, CONSUMER, handlers)
