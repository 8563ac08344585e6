"""Witnesses' cosignatures of checkpoints (C2SP tlog-cosignature), kept append-only."""

import django.db.models.deletion
from django.db import migrations, models

import fieldvisit.db.append_only


class Migration(migrations.Migration):
    dependencies = [
        ("fieldvisit", "0029_photo_acceptance_permissions"),
    ]

    operations = [
        migrations.CreateModel(
            name="WitnessCosignature",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "witness_name",
                    models.CharField(
                        help_text="The witness's key name, as in its signature line.",
                        max_length=255,
                        verbose_name="witness name",
                    ),
                ),
                (
                    "verifier_key",
                    models.CharField(
                        help_text=(
                            "The witness's C2SP verifier key (name+key ID+base64) it was "
                            "checked with."
                        ),
                        max_length=500,
                        verbose_name="verifier key",
                    ),
                ),
                ("key_id", models.CharField(max_length=8, verbose_name="key ID")),
                (
                    "line",
                    models.CharField(
                        help_text="The signature line the witness returned, without its newline.",
                        max_length=1000,
                        verbose_name="cosignature line",
                    ),
                ),
                (
                    "cosigned_at",
                    models.DateTimeField(
                        help_text="The time in the witness's cosignature.",
                        verbose_name="cosigned at",
                    ),
                ),
                ("created_at", models.DateTimeField(verbose_name="created at")),
                (
                    "checkpoint",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cosignatures",
                        to="fieldvisit.checkpoint",
                        verbose_name="checkpoint",
                    ),
                ),
            ],
            options={
                "verbose_name": "witness cosignature",
                "verbose_name_plural": "witness cosignatures",
                "ordering": ["checkpoint", "witness_name", "id"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("checkpoint", "verifier_key"),
                        name="witness_cosigns_checkpoint_once",
                    )
                ],
            },
        ),
        fieldvisit.db.append_only.AppendOnly("WitnessCosignature"),
    ]
