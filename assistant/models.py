"""The course assistant's knowledge base: items imported from Canvas or uploaded,
split into passages ready for retrieval (each passage knows where it came from)."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models


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

    class Meta:
        constraints = [models.UniqueConstraint(fields=["item", "position"], name="uniq_passage_position")]
        indexes = [GinIndex(fields=["search"], name="passage_search_gin"), models.Index(fields=["group", "item"])]
        ordering = ["item", "position"]

    def __str__(self) -> str:
        return f"{self.item.title} #{self.position}"
