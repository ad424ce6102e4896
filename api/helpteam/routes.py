"""Help team: residents ask, neighbours claim and help, requesters confirm; activities.

The module's one router (its key auth and tag), built of one router per concept. Every
handler looks things up and checks who may act through ``tenants.helpteam.access`` and
calls one service or selector: a key acting for a resident acts as that resident (the
requester, a volunteer, a leader of their places); a key acting for nobody is the
district's tool and names the volunteer or resident a step is for.
"""

from __future__ import annotations

from ninja import Router

from api.auth import KeyAuth
from api.helpteam import routes_activities, routes_proof, routes_recognition, routes_requests

router = Router(auth=KeyAuth("helpteam"), tags=["helpteam"])
for part in (routes_requests, routes_activities, routes_proof, routes_recognition):
    router.add_router("", part.router)
