"""A checkpoint is time-stamped once by each configured authority, not once in all. SQLite
rebuilds the table for the new constraint, so its append-only triggers are installed again."""

from django.db import migrations, models

import fieldvisit.db.append_only


class Migration(migrations.Migration):
    dependencies = [
        ("fieldvisit", "0023_visit_chains_and_checkpoint_origin"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="checkpointtimestamp",
            name="checkpoint_timestamped_once",
        ),
        migrations.AddConstraint(
            model_name="checkpointtimestamp",
            constraint=models.UniqueConstraint(
                condition=models.Q(("gen_time__isnull", False)),
                fields=("checkpoint", "authority"),
                name="checkpoint_timestamped_once_per_authority",
            ),
        ),
        fieldvisit.db.append_only.AppendOnly("CheckpointTimestamp", again=True),
    ]
