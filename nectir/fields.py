from django.db import models

from nectir import crypto


class EncryptedTextField(models.TextField):
    """A text column stored as AES-GCM ciphertext; Python code sees plaintext.

    The column name is bound as associated data, so a ciphertext copied into another
    column does not decrypt. Never use it for anything that must be searched.
    """

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return crypto.decrypt(value, context=self.column)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value, context=self.column)
