from django import forms


class PersonForm(forms.Form):
    person = forms.IntegerField(min_value=1)


class PersonEraseForm(PersonForm):
    MODES = [("delete", "Delete all of this person's data"), ("anonymise", "Anonymise (keep activity, drop identity)")]
    mode = forms.ChoiceField(choices=MODES)
    confirm = forms.BooleanField(required=True, label="I understand this cannot be undone")


class ShareLinkForm(forms.Form):
    action = forms.ChoiceField(choices=[("create", "Create a new link"), ("revoke", "Revoke the link")])


class WorkspaceDeleteForm(forms.Form):
    confirm_slug = forms.CharField(max_length=60, label="Type the workspace's slug to confirm")

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace

    def clean_confirm_slug(self):
        value = self.cleaned_data["confirm_slug"].strip()
        if value != self.workspace.slug:
            raise forms.ValidationError("This is not the workspace's slug.")
        return value
