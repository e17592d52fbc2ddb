"""The course assistant's knowledge base: items imported from Canvas or uploaded,
split into passages ready for retrieval (each passage knows where it came from)."""

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models

from nectir.fields import EncryptedTextField


class KnowledgeItem(models.Model):
    class Source(models.TextChoices):
        CANVAS = "canvas", "Canvas import"
        UPLOAD = "upload", "Uploaded file"

    class ItemType(models.TextChoices):
        SYLLABUS = "syllabus", "Syllabus"
        PAGE = "page", "Page"
        ASSIGNMENT = "assignment", "Assignment"
        DISCUSSION = "discussion", "Discussion topic"
        QUIZ = "quiz", "Quiz"
        ANNOUNCEMENT = "announcement", "Announcement"
        MODULE = "module", "Module"
        MODULE_ITEM = "module_item", "Module item"
        FILE = "file", "File"
        UPLOAD = "upload", "Uploaded file"

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="knowledge_items")
    group = models.ForeignKey("workspaces.Group", on_delete=models.CASCADE, related_name="knowledge_items")
    source = models.CharField(max_length=16, choices=Source.choices)
    item_type = models.CharField(max_length=16, choices=ItemType.choices)
    external_id = models.CharField(max_length=255, help_text="Canvas id (or upload id) of the item")
    title = models.CharField(max_length=500)
    url = models.URLField(max_length=1000, blank=True, help_text="Link to the item in Canvas")
    source_updated_at = models.DateTimeField(null=True, blank=True, help_text="updated_at reported by Canvas")
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the imported content")
    text = models.TextField(blank=True, help_text="Clean text (HTML converted, files extracted)")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    position = models.IntegerField(default=0, help_text="Order among siblings (modules, module items)")
    metadata = models.JSONField(default=dict, blank=True, help_text="Type-specific facts: dates, file size, ...")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "group", "source", "item_type", "external_id"], name="uniq_knowledge_item"
            )
        ]
        ordering = ["group", "item_type", "position", "title"]

    def __str__(self) -> str:
        return f"{self.get_item_type_display()}: {self.title}"


class Passage(models.Model):
    """A retrieval unit of a knowledge item's text."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey("workspaces.Group", on_delete=models.CASCADE, related_name="passages")
    item = models.ForeignKey(KnowledgeItem, on_delete=models.CASCADE, related_name="passages")
    position = models.IntegerField()
    text = models.TextField()
    search = models.GeneratedField(
        expression=SearchVector("text", config="english"), output_field=SearchVectorField(), db_persist=True
    )
    # float32 little-endian vector (all-MiniLM-L6-v2: 384 dims); NULL until embedded.
    embedding = models.BinaryField(null=True, blank=True)
    # md5 of the text the embedding was computed from: a passage whose text changed is re-embedded.
    embedded_text_md5 = models.CharField(max_length=32, blank=True, default="", editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "position"], name="uniq_passage_position")]
        indexes = [GinIndex(fields=["search"], name="passage_search_gin"), models.Index(fields=["group", "item"])]
        ordering = ["item", "position"]

    def __str__(self) -> str:
        return f"{self.item.title} #{self.position}"


class ProviderConfig(models.Model):
    """How answers are produced: the offline default, or an OpenAI-compatible endpoint.

    Chosen per workspace (``AssistantWorkspaceSettings.provider``) and overridable per
    assistant (``Assistant.provider``). The API key is encrypted at rest.
    """

    class Kind(models.TextChoices):
        OFFLINE = "offline", "Offline (quotes course materials, generates nothing)"
        OPENAI_COMPATIBLE = "openai", "OpenAI-compatible (OpenAI, Azure OpenAI, vLLM, Ollama, LiteLLM)"

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OPENAI_COMPATIBLE)
    base_url = models.URLField(
        max_length=500, blank=True, help_text="e.g. https://api.openai.com/v1 or http://ollama.internal:11434/v1"
    )
    model = models.CharField(max_length=200, blank=True, help_text="Model (or Azure deployment) name")
    api_key = EncryptedTextField(blank=True, help_text="Stored encrypted; leave empty for servers without keys")
    azure_api_version = models.CharField(
        max_length=32, blank=True, help_text="Set only for Azure OpenAI (e.g. 2024-10-21): switches to Azure URLs"
    )
    timeout_seconds = models.FloatField(default=30.0)
    max_retries = models.PositiveSmallIntegerField(default=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="uniq_provider_name")]
        ordering = ["workspace", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display().split(' (')[0]})"

    def clean(self) -> None:
        if self.kind == self.Kind.OPENAI_COMPATIBLE and not (self.base_url and self.model):
            raise ValidationError("An OpenAI-compatible provider needs a base URL and a model.")


class AssistantWorkspaceSettings(models.Model):
    """Workspace-wide assistant settings (one row per workspace, created when first needed)."""

    workspace = models.OneToOneField(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="assistant_settings"
    )
    provider = models.ForeignKey(
        ProviderConfig,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty: the offline default.",
    )
    retention_days = models.PositiveIntegerField(
        default=365, help_text="Conversations untouched for this many days are purged (0 keeps them forever)."
    )
    staff_can_read_conversations = models.BooleanField(
        default=False,
        help_text="Group Owners and Facilitators may read individual conversations. The chat tells people when on.",
    )

    class Meta:
        verbose_name = "assistant workspace settings"
        verbose_name_plural = "assistant workspace settings"

    def __str__(self) -> str:
        return f"Assistant settings of {self.workspace}"

    def clean(self) -> None:
        if self.provider_id and self.workspace_id and self.provider.workspace_id != self.workspace_id:
            raise ValidationError({"provider": "The provider belongs to another workspace."})


class Assistant(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey("workspaces.Group", on_delete=models.CASCADE, related_name="assistants")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    is_default = models.BooleanField(default=True, help_text="The assistant shown on the group page")
    name = models.CharField(max_length=200, default="Course assistant")
    instructions = models.TextField(
        blank=True, help_text="Tone, what to focus on, what not to do. Sits under the platform's fixed rules."
    )
    allow_general_knowledge = models.BooleanField(
        default=False, help_text="May answer from general knowledge beyond the course materials (marked as such)."
    )
    use_all_knowledge = models.BooleanField(
        default=True, help_text="Use all of the group's knowledge; otherwise only the selected items."
    )
    provider = models.ForeignKey(
        ProviderConfig,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Overrides the workspace's provider; empty: the workspace's choice.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "group"], condition=models.Q(is_default=True), name="uniq_default_assistant"
            )
        ]
        ordering = ["group", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.group})"

    def clean(self) -> None:
        if self.group_id and self.workspace_id and self.group.workspace_id != self.workspace_id:
            raise ValidationError({"group": "The group belongs to another workspace."})
        if self.provider_id and self.workspace_id and self.provider.workspace_id != self.workspace_id:
            raise ValidationError({"provider": "The provider belongs to another workspace."})


class AssistantKnowledge(models.Model):
    """An item selected for an assistant (used when ``use_all_knowledge`` is off)."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="selected_knowledge")
    item = models.ForeignKey(KnowledgeItem, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "assistant", "item"], name="uniq_assistant_knowledge")
        ]

    def __str__(self) -> str:
        return f"{self.assistant_id} uses {self.item_id}"


class EmbeddingIndex(models.Model):
    """Per group: bumped whenever passage embeddings change, so cached vectors are refreshed."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    group = models.OneToOneField("workspaces.Group", on_delete=models.CASCADE, related_name="+")
    version = models.BigIntegerField(default=0)
    embedded_count = models.IntegerField(default=0)
    last_embedded_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Embeddings of group {self.group_id} (v{self.version})"


class Conversation(models.Model):
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="conversations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["assistant", "user", "-updated_at"])]

    def __str__(self) -> str:
        return self.title or str(self.uuid)


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "Question"
        ASSISTANT = "assistant", "Answer"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be answered"
        STREAMING = "streaming", "Being answered"
        ANSWERED = "answered", "Answered from the materials"
        GENERAL = "general", "Answered from general knowledge"
        DECLINED = "declined", "Not answered: the materials do not cover it"
        RULE = "rule", "Answered by a fixed rule"
        ERROR = "error", "Failed"
        QUESTION = "question", "Question"

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    question = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="+", help_text="For an answer"
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    mode = models.CharField(max_length=16, blank=True, help_text="Provider kind that produced the answer")
    citations = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.content[:60]}"

    @property
    def is_unanswered(self) -> bool:
        return self.status in {self.Status.DECLINED, self.Status.ERROR}


class MessageCitation(models.Model):
    """One source cited by an answer (kept for "most cited materials")."""

    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="cited")
    item = models.ForeignKey(KnowledgeItem, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveSmallIntegerField()

    def __str__(self) -> str:
        return f"[{self.number}] item {self.item_id}"
