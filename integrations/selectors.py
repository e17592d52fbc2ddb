"""Reads for LTI registrations and deployments."""

import hashlib

from django.core.cache import cache

from integrations.models import LtiDeployment

DEPLOYMENT_CACHE_SECONDS = 60


def deployment_cache_key(*, registration_id: int, deployment_id: str) -> str:
    digest = hashlib.sha256(deployment_id.encode()).hexdigest()[:32]
    return f"lti-deployment:v1:{registration_id}:{digest}"


def deployment_for_launch(*, registration_id: int, deployment_id: str) -> LtiDeployment | None:
    """The deployment a launch names, with its status, from the shared cache when possible.

    Launch hot path: a known deployment costs no query. The services that change a
    deployment's status drop the cached entry on commit; the short lifetime is a backstop.
    Unknown deployments are not cached (the first launch records them).
    """
    key = deployment_cache_key(registration_id=registration_id, deployment_id=deployment_id)
    cached = cache.get(key)
    if cached is not None:
        pk, workspace_id, status = cached
        return LtiDeployment(
            pk=pk,
            workspace_id=workspace_id,
            registration_id=registration_id,
            deployment_id=deployment_id,
            status=status,
        )
    deployment = LtiDeployment.objects.filter(registration_id=registration_id, deployment_id=deployment_id).first()
    if deployment is not None:
        cache.set(key, (deployment.pk, deployment.workspace_id, deployment.status), DEPLOYMENT_CACHE_SECONDS)
    return deployment
