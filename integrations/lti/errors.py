"""Every reason a login or launch can be refused, with what the person should do."""

from dataclasses import dataclass

_RELAUNCH = "Go back to Canvas and open the course assistant again from the course."
_ADMIN = "Ask your Canvas administrator to check the course assistant's LTI configuration."


@dataclass(frozen=True)
class Refusal:
    status: int
    title: str
    message: str
    action: str


REASONS: dict[str, Refusal] = {
    "malformed": Refusal(
        400, "The launch request was malformed", "The request did not carry a readable LTI message.", _RELAUNCH
    ),
    "token_too_large": Refusal(
        400, "The launch message is too large", "The LTI message exceeds the accepted size.", _ADMIN
    ),
    "platform_error": Refusal(
        403,
        "Canvas refused to sign you in",
        "Canvas answered the sign-in request with an error.",
        _RELAUNCH + " If it happens again, sign in to Canvas first.",
    ),
    "login_params_missing": Refusal(
        400,
        "The sign-in request is incomplete",
        "A required login parameter (iss, login_hint or target_link_uri) is missing.",
        _ADMIN,
    ),
    "unknown_issuer": Refusal(
        403, "This LMS is not registered", "No workspace has registered this LMS platform.", _ADMIN
    ),
    "unknown_client": Refusal(
        403,
        "This developer key is not registered",
        "The client ID of this launch is not registered in any workspace.",
        _ADMIN,
    ),
    "ambiguous_issuer": Refusal(
        400,
        "The platform must say which key it uses",
        "Several keys are registered for this platform and the login did not name a client ID.",
        _ADMIN,
    ),
    "registration_inactive": Refusal(
        403, "This integration is switched off", "The workspace has deactivated this LMS registration.", _ADMIN
    ),
    "target_link_uri_invalid": Refusal(
        400, "The launch target is not this tool", "The requested target link is not an address of this tool.", _ADMIN
    ),
    "state_missing": Refusal(
        400,
        "The launch has no state",
        "The launch did not carry the state of a sign-in started by this browser.",
        _RELAUNCH,
    ),
    "state_unknown": Refusal(
        403,
        "This sign-in has expired",
        "The launch does not answer a current sign-in (it expired or was never started).",
        _RELAUNCH,
    ),
    "state_expired": Refusal(403, "This sign-in has expired", "The sign-in took too long.", _RELAUNCH),
    "state_mismatch": Refusal(
        403,
        "This sign-in was started in another browser",
        "The launch does not belong to the sign-in this browser started.",
        _RELAUNCH,
    ),
    "cookies_blocked": Refusal(
        403,
        "Your browser blocked the sign-in",
        "Your browser does not allow the cookies the course assistant needs inside Canvas.",
        "Open the course assistant again from Canvas and choose 'Open in a new window', "
        "or allow cookies for this site.",
    ),
    "nonce_replayed": Refusal(403, "This launch was already used", "Each launch can be used only once.", _RELAUNCH),
    "nonce_mismatch": Refusal(
        403,
        "This launch does not match the sign-in",
        "The launch's nonce is not the one issued for this sign-in.",
        _RELAUNCH,
    ),
    "alg_not_allowed": Refusal(
        403, "The launch signature is not acceptable", "Only RS256-signed launches are accepted.", _ADMIN
    ),
    "header_not_allowed": Refusal(
        403,
        "The launch signature is not acceptable",
        "The launch names its own key location (jku, x5u, jwk or x5c), which is refused.",
        _ADMIN,
    ),
    "unknown_kid": Refusal(
        403,
        "The launch was signed with an unknown key",
        "The platform's published keys do not include the one that signed this launch.",
        _ADMIN,
    ),
    "jwks_unavailable": Refusal(
        403,
        "The platform's keys could not be checked",
        "The LMS's public keys could not be fetched to verify the launch.",
        "Try again in a minute. " + _ADMIN,
    ),
    "bad_signature": Refusal(
        403, "The launch signature is invalid", "The launch was not signed by the registered platform.", _RELAUNCH
    ),
    "wrong_issuer": Refusal(
        403,
        "The launch came from another platform",
        "The launch's issuer is not the platform this sign-in was started for.",
        _ADMIN,
    ),
    "aud_mismatch": Refusal(
        403,
        "The launch was meant for another tool",
        "The launch's audience does not include this tool's client ID.",
        _ADMIN,
    ),
    "azp_mismatch": Refusal(
        403,
        "The launch was meant for another tool",
        "The launch's authorized party is not this tool's client ID.",
        _ADMIN,
    ),
    "expired": Refusal(
        403,
        "This launch has expired",
        "The launch message is past its expiry time.",
        _RELAUNCH + " If it persists, the server clocks may be out of step.",
    ),
    "iat_in_future": Refusal(
        403,
        "This launch is dated in the future",
        "The launch was issued later than the current time allows.",
        "Check that the LMS and tool server clocks are synchronised.",
    ),
    "claims_invalid": Refusal(
        403, "The launch message is incomplete", "A required LTI claim is missing or malformed.", _ADMIN
    ),
    "deployment_missing": Refusal(403, "The launch names no deployment", "The launch has no deployment_id.", _ADMIN),
    "deployment_pending": Refusal(
        403,
        "Waiting for approval",
        "This installation is waiting for a workspace administrator's approval.",
        "Ask your administrator to approve the deployment in the workspace console.",
    ),
    "deployment_disabled": Refusal(
        403, "This installation is switched off", "The workspace has disabled this deployment.", _ADMIN
    ),
    "wrong_version": Refusal(403, "Unsupported LTI version", "Only LTI 1.3.0 launches are accepted.", _ADMIN),
    "wrong_message_type": Refusal(
        403, "Unsupported launch type", "This tool accepts resource-link launches only.", _ADMIN
    ),
    "roles_missing": Refusal(
        403, "The launch has no roles claim", "The launch does not say what role you have in the course.", _ADMIN
    ),
    "sub_missing": Refusal(403, "The launch does not identify you", "The launch has no user identifier.", _ADMIN),
    "context_missing": Refusal(
        403,
        "The launch has no course",
        "The course assistant must be opened from inside a course.",
        "Open it from the course navigation of a Canvas course.",
    ),
    "resource_link_missing": Refusal(
        403, "The launch has no resource link", "A resource-link launch must name its resource link.", _ADMIN
    ),
    "target_link_uri_mismatch": Refusal(
        403, "The launch target changed", "The launch's target link does not match the sign-in.", _RELAUNCH
    ),
}


class LaunchRefused(Exception):
    """A login or launch is refused; ``reason`` is a key of REASONS."""

    def __init__(self, reason: str, detail: str = ""):
        assert reason in REASONS, reason
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail[:500]
        # Set when the refusal happened after the registration was known (for the event).
        self.registration = None
