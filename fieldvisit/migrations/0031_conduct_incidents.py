"""Conduct enforced: the seeds' attestations item by item on the report, incidents (with the
agents' accounts, the risk manager's decision, suspensions) and complaints; a case status
change may be the system's (an incident holding the case). Grants to the roles."""

import django.db.models.deletion
import uuid

from django.conf import settings
from django.db import migrations, models

import fieldvisit.db.append_only
from fieldvisit.db.grants import grant_permissions

INCIDENT_READS = [
    "view_incident",
    "view_incidentagent",
    "view_incidentaccount",
    "view_incidentdecision",
    "view_agentsuspension",
    "view_suspensionlift",
    "view_complaint",
    "view_complaintagent",
    "view_complaintanswer",
]
GRANTS = {
    "supervisor": [
        *INCIDENT_READS,
        "add_incident",
        "decide_incident",
        "suspend_agent",
        "add_complaint",
        "answer_complaint",
    ],
    "legal": [*INCIDENT_READS, "add_complaint", "answer_complaint"],
    "auditor": INCIDENT_READS,
}
GUARDED = [
    "Complaint",
    "ComplaintAgent",
    "ComplaintAnswer",
    "Incident",
    "IncidentAgent",
    "IncidentAccount",
    "IncidentDecision",
    "AgentSuspension",
    "SuspensionLift",
]


class Migration(migrations.Migration):
    dependencies = [
        ("fieldvisit", "0030_witness_cosignature"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="visitreport",
            name="identity_verified_first",
            field=models.BooleanField(
                null=True, verbose_name="identity verified before the debt was discussed"
            ),
        ),
        migrations.AddField(
            model_name="visitreport",
            name="no_disturbance",
            field=models.BooleanField(
                null=True, verbose_name="no shouting, banging or repeated ringing"
            ),
        ),
        migrations.AddField(
            model_name="visitreport",
            name="no_impersonation",
            field=models.BooleanField(
                null=True, verbose_name="no impersonation of police, courts or banks"
            ),
        ),
        migrations.AddField(
            model_name="visitreport",
            name="no_physical_contact",
            field=models.BooleanField(null=True, verbose_name="no physical contact"),
        ),
        migrations.AddField(
            model_name="visitreport",
            name="no_threats_or_insults",
            field=models.BooleanField(null=True, verbose_name="no threats or insults"),
        ),
        migrations.AddField(
            model_name="visitreport",
            name="no_unauthorised_reduction",
            field=models.BooleanField(
                null=True, verbose_name="no unauthorised reduction or waiver promised"
            ),
        ),
        migrations.AlterField(
            model_name="alert",
            name="kind",
            field=models.CharField(
                choices=[
                    ("panic", "Panic"),
                    ("missed_checkin", "Missed check-in (team)"),
                    ("agent_silent", "Agent silent (missed check-in)"),
                    ("lone_depart", "Departed alone"),
                    ("lone_agent", "Agent alone at the door"),
                    ("team_split", "Team split"),
                    ("rule_break", "Rule broken (offline check-in)"),
                    ("late_evidence", "Evidence received after review"),
                    ("phone_silent", "Phone stopped reporting (no heartbeat)"),
                    ("low_battery", "Phone battery low"),
                    ("day_not_closed", "Day not closed (report, recording or return missing)"),
                    ("incident", "Conduct incident opened"),
                ],
                max_length=16,
                verbose_name="kind",
            ),
        ),
        migrations.AlterField(
            model_name="casestatuschange",
            name="changed_by",
            field=models.ForeignKey(
                blank=True,
                help_text="Empty: the system, holding the case for a conduct incident.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="changed by",
            ),
        ),
        migrations.CreateModel(
            name="Complaint",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, primary_key=True, serialize=False, verbose_name="id"
                    ),
                ),
                (
                    "reference",
                    models.CharField(
                        help_text="Given to the complainant, to quote when they follow it up.",
                        max_length=32,
                        unique=True,
                        verbose_name="reference",
                    ),
                ),
                ("received_at", models.DateTimeField(verbose_name="received at")),
                (
                    "channel",
                    models.CharField(
                        choices=[
                            ("web_form", "Public web form"),
                            ("phone", "Telephone"),
                            ("letter", "Letter"),
                            ("in_person", "In person"),
                            ("email", "E-mail"),
                            ("creditor", "Forwarded by the creditor"),
                            ("regulator", "Forwarded by a regulator"),
                        ],
                        max_length=16,
                        verbose_name="channel",
                    ),
                ),
                (
                    "complainant_kind",
                    models.CharField(
                        choices=[
                            ("debtor", "The debtor"),
                            ("relation", "A relation of the debtor"),
                            ("third_party", "A third party (neighbour, ...)"),
                            ("other", "Other"),
                        ],
                        max_length=16,
                        verbose_name="complainant",
                    ),
                ),
                (
                    "complainant_name",
                    models.CharField(max_length=200, verbose_name="complainant's name"),
                ),
                (
                    "complainant_contact",
                    models.CharField(blank=True, max_length=200, verbose_name="how to reach them"),
                ),
                (
                    "case_number_given",
                    models.CharField(
                        blank=True,
                        help_text="As the complainant wrote it (from the company's letter).",
                        max_length=64,
                        verbose_name="case reference as given",
                    ),
                ),
                (
                    "category",
                    models.CharField(
                        choices=[
                            ("entered_residence", "Entered the residence"),
                            ("disturbance", "Shouting, banging or repeated ringing"),
                            ("physical_contact", "Physical contact"),
                            ("threats_or_insults", "Threats or insults"),
                            ("impersonation", "Posed as police, a court or a bank"),
                            ("unauthorised_reduction", "Promised a reduction or waiver"),
                            ("third_party_disclosure", "Told others about the debt"),
                            ("cash_or_gifts", "Took cash, notes, goods or gifts"),
                            ("no_identity", "Did not show identity or badge"),
                            ("hours_or_frequency", "Visited at night or too often"),
                            ("other", "Other"),
                        ],
                        max_length=32,
                        verbose_name="what happened",
                    ),
                ),
                ("description", models.TextField(verbose_name="description")),
                (
                    "occurred_on",
                    models.DateField(blank=True, null=True, verbose_name="occurred on"),
                ),
                (
                    "grade",
                    models.PositiveSmallIntegerField(
                        choices=[(10, "Minor"), (30, "Serious"), (40, "Critical")],
                        verbose_name="grade",
                    ),
                ),
                ("respond_by", models.DateTimeField(verbose_name="answer due by")),
                (
                    "request_sha256",
                    models.CharField(blank=True, max_length=64, verbose_name="request sha256"),
                ),
                (
                    "case",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="complaints",
                        to="fieldvisit.case",
                        verbose_name="case",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty: received through the public form.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="recorded by",
                    ),
                ),
                (
                    "visit",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="complaints",
                        to="fieldvisit.visit",
                        verbose_name="visit",
                    ),
                ),
            ],
            options={
                "verbose_name": "complaint",
                "verbose_name_plural": "complaints",
                "ordering": ["-received_at"],
                "permissions": [("answer_complaint", "Can record the answer to a complaint")],
            },
        ),
        migrations.CreateModel(
            name="ComplaintAgent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "agent",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="complaints_naming",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="agent",
                    ),
                ),
                (
                    "complaint",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="named",
                        to="fieldvisit.complaint",
                        verbose_name="complaint",
                    ),
                ),
            ],
            options={
                "verbose_name": "agent named in a complaint",
                "verbose_name_plural": "agents named in complaints",
            },
        ),
        migrations.CreateModel(
            name="ComplaintAnswer",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, primary_key=True, serialize=False, verbose_name="id"
                    ),
                ),
                ("text", models.TextField(verbose_name="answer")),
                ("answered_at", models.DateTimeField(verbose_name="answered at")),
                (
                    "answered_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="answered by",
                    ),
                ),
                (
                    "complaint",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="answers",
                        to="fieldvisit.complaint",
                        verbose_name="complaint",
                    ),
                ),
            ],
            options={
                "verbose_name": "answer to a complaint",
                "verbose_name_plural": "answers to complaints",
                "ordering": ["answered_at"],
            },
        ),
        migrations.CreateModel(
            name="Incident",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, primary_key=True, serialize=False, verbose_name="id"
                    ),
                ),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("attestation", "Report attests a rule broken"),
                            ("lone_agent", "Agent acted alone"),
                            ("complaint", "Serious complaint"),
                            ("finding", "Supervisor's finding"),
                        ],
                        max_length=16,
                        verbose_name="source",
                    ),
                ),
                (
                    "rules",
                    models.JSONField(
                        help_text="The rules it concerns (attestation items, lone_agent, complaint category).",
                        verbose_name="rules",
                    ),
                ),
                (
                    "severity",
                    models.PositiveSmallIntegerField(
                        choices=[(10, "Low"), (20, "Medium"), (30, "High"), (40, "Critical")],
                        verbose_name="severity",
                    ),
                ),
                ("summary", models.TextField(verbose_name="summary")),
                ("opened_at", models.DateTimeField(verbose_name="opened at")),
                (
                    "alert",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="fieldvisit.alert",
                        verbose_name="alert",
                    ),
                ),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="incidents",
                        to="fieldvisit.case",
                        verbose_name="case",
                    ),
                ),
                (
                    "complaint",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="incidents",
                        to="fieldvisit.complaint",
                        verbose_name="complaint",
                    ),
                ),
                (
                    "hold",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty when the case was not open (already held, closed, ...).",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="fieldvisit.casestatuschange",
                        verbose_name="case put on hold by",
                    ),
                ),
                (
                    "opened_by",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty: opened by the system from a record.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="opened by",
                    ),
                ),
                (
                    "report",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="incidents",
                        to="fieldvisit.visitreport",
                        verbose_name="report",
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="fieldvisit.team",
                        verbose_name="team",
                    ),
                ),
                (
                    "visit",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="incidents",
                        to="fieldvisit.visit",
                        verbose_name="visit",
                    ),
                ),
            ],
            options={
                "verbose_name": "incident",
                "verbose_name_plural": "incidents",
                "ordering": ["-opened_at"],
                "permissions": [
                    ("decide_incident", "Can close an incident with a decision"),
                    ("suspend_agent", "Can suspend an agent and lift a suspension"),
                ],
            },
        ),
        migrations.CreateModel(
            name="AgentSuspension",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, primary_key=True, serialize=False, verbose_name="id"
                    ),
                ),
                ("reason", models.TextField(verbose_name="reason")),
                ("suspended_at", models.DateTimeField(verbose_name="suspended at")),
                (
                    "agent",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="suspensions",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="agent",
                    ),
                ),
                (
                    "suspended_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="suspended by",
                    ),
                ),
                (
                    "incident",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="suspensions",
                        to="fieldvisit.incident",
                        verbose_name="incident",
                    ),
                ),
            ],
            options={
                "verbose_name": "agent suspension",
                "verbose_name_plural": "agent suspensions",
                "ordering": ["-suspended_at"],
            },
        ),
        migrations.CreateModel(
            name="IncidentAccount",
            fields=[
                ("id", models.UUIDField(primary_key=True, serialize=False, verbose_name="id")),
                ("device_id", models.CharField(max_length=128, verbose_name="device id")),
                ("text", models.TextField(verbose_name="account")),
                ("submitted_at", models.DateTimeField(verbose_name="submitted at")),
                ("request_sha256", models.CharField(max_length=64, verbose_name="request sha256")),
                (
                    "agent",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="incident_accounts",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="agent",
                    ),
                ),
                (
                    "incident",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="accounts",
                        to="fieldvisit.incident",
                        verbose_name="incident",
                    ),
                ),
            ],
            options={
                "verbose_name": "incident account",
                "verbose_name_plural": "incident accounts",
                "ordering": ["submitted_at"],
            },
        ),
        migrations.CreateModel(
            name="IncidentAgent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("account_due_at", models.DateTimeField(verbose_name="account due by")),
                (
                    "agent",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="incidents_naming",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="agent",
                    ),
                ),
                (
                    "incident",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="named",
                        to="fieldvisit.incident",
                        verbose_name="incident",
                    ),
                ),
            ],
            options={
                "verbose_name": "agent named in an incident",
                "verbose_name_plural": "agents named in incidents",
            },
        ),
        migrations.CreateModel(
            name="IncidentDecision",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "decision",
                    models.CharField(
                        choices=[
                            ("not_substantiated", "Not substantiated"),
                            ("warning", "Substantiated: written warning"),
                            ("retraining", "Substantiated: retraining before field work"),
                            ("suspension", "Substantiated: agent(s) suspended"),
                            ("dismissal", "Substantiated: dismissal"),
                        ],
                        max_length=24,
                        verbose_name="decision",
                    ),
                ),
                ("findings", models.TextField(verbose_name="findings")),
                ("decided_at", models.DateTimeField(verbose_name="decided at")),
                (
                    "decided_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="decided by",
                    ),
                ),
                (
                    "incident",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="decision",
                        to="fieldvisit.incident",
                        verbose_name="incident",
                    ),
                ),
                (
                    "release",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="fieldvisit.casestatuschange",
                        verbose_name="case released by",
                    ),
                ),
            ],
            options={
                "verbose_name": "incident decision",
                "verbose_name_plural": "incident decisions",
            },
        ),
        migrations.CreateModel(
            name="SuspensionLift",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("reason", models.TextField(verbose_name="reason")),
                ("lifted_at", models.DateTimeField(verbose_name="lifted at")),
                (
                    "lifted_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="lifted by",
                    ),
                ),
                (
                    "suspension",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="lift",
                        to="fieldvisit.agentsuspension",
                        verbose_name="suspension",
                    ),
                ),
            ],
            options={
                "verbose_name": "suspension lift",
                "verbose_name_plural": "suspension lifts",
            },
        ),
        migrations.AddConstraint(
            model_name="complaint",
            constraint=models.CheckConstraint(
                condition=models.Q(("description", ""), _negated=True), name="complaint_described"
            ),
        ),
        migrations.AddConstraint(
            model_name="complaint",
            constraint=models.CheckConstraint(
                condition=models.Q(("respond_by__gt", models.F("received_at"))),
                name="complaint_answer_after_receipt",
            ),
        ),
        migrations.AddConstraint(
            model_name="complaintagent",
            constraint=models.UniqueConstraint(
                fields=("complaint", "agent"), name="one_complaint_agent"
            ),
        ),
        migrations.AddConstraint(
            model_name="complaintanswer",
            constraint=models.CheckConstraint(
                condition=models.Q(("text", ""), _negated=True), name="answer_given"
            ),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(fields=["case", "opened_at"], name="fieldvisit__case_id_9e06cb_idx"),
        ),
        migrations.AddConstraint(
            model_name="incident",
            constraint=models.CheckConstraint(
                condition=models.Q(("summary", ""), _negated=True), name="incident_summary"
            ),
        ),
        migrations.AddConstraint(
            model_name="agentsuspension",
            constraint=models.CheckConstraint(
                condition=models.Q(("reason", ""), _negated=True), name="suspension_reason"
            ),
        ),
        migrations.AddConstraint(
            model_name="incidentaccount",
            constraint=models.CheckConstraint(
                condition=models.Q(("text", ""), _negated=True), name="account_given"
            ),
        ),
        migrations.AddConstraint(
            model_name="incidentagent",
            constraint=models.UniqueConstraint(
                fields=("incident", "agent"), name="one_incident_agent"
            ),
        ),
        migrations.AddConstraint(
            model_name="incidentdecision",
            constraint=models.CheckConstraint(
                condition=models.Q(("findings", ""), _negated=True), name="decision_findings"
            ),
        ),
        migrations.AddConstraint(
            model_name="suspensionlift",
            constraint=models.CheckConstraint(
                condition=models.Q(("reason", ""), _negated=True), name="lift_reason"
            ),
        ),
        # SQLite rebuilt the case status changes' table (changed_by now nullable).
        fieldvisit.db.append_only.AppendOnly("CaseStatusChange", again=True),
        fieldvisit.db.append_only.AppendOnly("VisitReport", again=True),
        *(fieldvisit.db.append_only.AppendOnly(name) for name in GUARDED),
        grant_permissions(GRANTS),
    ]
