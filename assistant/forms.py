from django import forms
from django.conf import settings


class AssistantSettingsForm(forms.Form):
    name = forms.CharField(max_length=200)
    instructions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Tone, what to focus on, what not to do. The platform's rules always come first.",
    )
    allow_general_knowledge = forms.BooleanField(
        required=False, label="Allow answers from general knowledge when the course materials do not cover a question"
    )
    use_all_knowledge = forms.BooleanField(required=False, label="Use all of this course's materials")
    items = forms.TypedMultipleChoiceField(
        required=False, coerce=int, widget=forms.CheckboxSelectMultiple, label="Materials the assistant uses"
    )

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["items"].choices = [(item.pk, f"{item.get_item_type_display()}: {item.title}") for item in items]


class UploadForm(forms.Form):
    file = forms.FileField(help_text="A .txt, .md, .html or .pdf file")
    title = forms.CharField(max_length=500, required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.ASSISTANT_MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is too large.")
        return upload
