"""The assistant in the Owners' and Editors' console, scoped by WorkspaceScopedAdmin."""

from django import forms
from django.contrib import admin
from django.contrib.admin import RelatedOnlyFieldListFilter

from assistant import services
from assistant.models import Assistant, AssistantWorkspaceSettings, KnowledgeItem, ProviderConfig
from workspaces.admin_scoping import OWNER, OWNER_EDITOR, ReadOnlyScopedAdmin, WorkspaceScopedAdmin


class ProviderConfigForm(forms.ModelForm):
    api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted. Leave empty to keep the current key (enter it again when the base URL changes).",
    )

    class Meta:
        model = ProviderConfig
        fields = [
            "workspace",
            "name",
            "kind",
            "base_url",
            "model",
            "api_key",
            "azure_api_version",
            "timeout_seconds",
            "max_retries",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # What is stored now (construct_instance overwrites the instance before it is saved).
        self.stored_base_url = self.instance.base_url if self.instance.pk else ""
        self.stored_api_key = (self.instance.api_key or "") if self.instance.pk else ""

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("api_key") or not self.stored_api_key:
            return cleaned
        # An empty key keeps the stored one, but only for the address it was entered for:
        # a stored key is never sent to a newly typed base URL.
        if "base_url" in cleaned and cleaned["base_url"] != self.stored_base_url:
            self.add_error("api_key", "The base URL changed: enter the API key again for the new address.")
        else:
            cleaned["api_key"] = self.stored_api_key
        return cleaned


@admin.register(ProviderConfig)
class ProviderConfigAdmin(WorkspaceScopedAdmin):
    form = ProviderConfigForm
    list_display = ["name", "workspace", "kind", "base_url", "model"]
    list_filter = [("workspace", RelatedOnlyFieldListFilter), "kind"]
    change_roles = OWNER  # the API key is a credential: Editors may view

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if not self.has_change_permission(request, obj):  # view only: never show the key itself
            fields = ["api_key_set" if f == "api_key" else f for f in fields]
        return fields

    @admin.display(description="API key set", boolean=True)
    def api_key_set(self, obj) -> bool:
        return bool(obj and obj.api_key)

    def save_model(self, request, obj, form, change):
        obj.full_clean()
        obj.save()


@admin.register(AssistantWorkspaceSettings)
class AssistantWorkspaceSettingsAdmin(WorkspaceScopedAdmin):
    list_display = ["workspace", "provider", "retention_days", "staff_can_read_conversations"]
    fields = ["workspace", "provider", "retention_days", "staff_can_read_conversations"]
    change_roles = OWNER  # provider, retention and who may read conversations: Editors may view

    def save_model(self, request, obj, form, change):
        obj.full_clean()
        obj.save()


@admin.register(Assistant)
class AssistantAdmin(WorkspaceScopedAdmin):
    list_display = ["name", "group", "workspace", "allow_general_knowledge", "use_all_knowledge", "provider"]
    list_filter = [("workspace", RelatedOnlyFieldListFilter), "allow_general_knowledge"]
    search_fields = ["name", "group__name"]
    fields = ["workspace", "group", "name", "instructions", "allow_general_knowledge", "use_all_knowledge", "provider"]
    readonly_fields = ["group"]
    change_roles = OWNER_EDITOR
    add_roles = ()  # created with their group (assistant_get_or_create_for_group)

    def save_model(self, request, obj, form, change):
        services.assistant_update(
            assistant=obj,
            name=obj.name,
            instructions=obj.instructions,
            allow_general_knowledge=obj.allow_general_knowledge,
            use_all_knowledge=obj.use_all_knowledge,
            item_ids=services.assistant_item_ids(assistant=obj) or [],
        )


@admin.register(KnowledgeItem)
class KnowledgeItemAdmin(ReadOnlyScopedAdmin):
    list_display = ["title", "group", "item_type", "source", "updated_at"]
    list_filter = [("workspace", RelatedOnlyFieldListFilter), "source", "item_type"]
    search_fields = ["title"]
    fields = ["workspace", "group", "source", "item_type", "title", "url", "external_id", "updated_at"]
    readonly_fields = fields
