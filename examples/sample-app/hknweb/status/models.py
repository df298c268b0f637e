from django.db import models


class Note(models.Model):
    """A row in the database, so tests can see data survive a deploy."""

    text = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.text
