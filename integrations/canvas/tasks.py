"""Celery tasks for Canvas sync (imported by integrations/tasks.py)."""
