from django.core.management.base import BaseCommand

from integrations.lti.tool_keys import tool_key_ensure, tool_key_rotate


class Command(BaseCommand):
    help = (
        "One staged rotation step of the tool's signing keys: the first run publishes a new key "
        "(not yet signing); the next run makes it the signing key and retires the old one, which "
        "stays published for LTI_KEY_OVERLAP_DAYS."
    )

    def handle(self, *args, **opts):
        tool_key_ensure()
        for kid, what in tool_key_rotate().items():
            self.stdout.write(f"{kid}: {what}")
