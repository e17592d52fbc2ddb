"""Admin for the Canvas API connection (imported by integrations/admin.py)."""
