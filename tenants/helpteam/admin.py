from django.contrib import admin

from tenants.helpteam.models import (
    Activity,
    HelpRequest,
    HelpTeam,
    Membership,
    Signup,
    Skill,
    Squad,
    Volunteer,
)


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["volunteer"]


@admin.register(HelpTeam)
class HelpTeamAdmin(admin.ModelAdmin):
    list_display = ["name", "estate"]
    inlines = [MembershipInline]


@admin.register(Squad)
class SquadAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation"]
    filter_horizontal = ["estates"]
    inlines = [MembershipInline]


@admin.register(Volunteer)
class VolunteerAdmin(admin.ModelAdmin):
    list_display = ["resident", "status"]
    list_filter = ["status", "skills"]
    raw_id_fields = ["resident"]
    filter_horizontal = ["skills"]


@admin.register(HelpRequest)
class HelpRequestAdmin(admin.ModelAdmin):
    list_display = ["id", "category", "status", "urgency", "window_start", "claimed_by"]
    list_filter = ["status", "urgency", "category"]
    search_fields = ["description", "category"]
    raw_id_fields = ["requester", "raised_by", "household", "claimed_by", "confirmed_by"]
    readonly_fields = [
        "status",
        "claimed_at",
        "started_at",
        "done_at",
        "confirmed_at",
        "points_transaction_id",
    ]

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


class SignupInline(admin.TabularInline):
    model = Signup
    extra = 0
    raw_id_fields = ["resident"]
    readonly_fields = ["points_transaction_id"]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["title", "estate", "space", "starts_at", "capacity", "cancelled"]
    list_filter = ["estate", "cancelled"]
    inlines = [SignupInline]
