"""What accounts tells the apps above it (they connect in their AppConfig.ready()).

accounts is the lowest app and imports none of them, so a credential another app issues for a
login (the API's tokens) is revoked by that app's receiver, not here.
"""

from django.dispatch import Signal

# user=: every credential issued to this login before now must stop working (all its sessions
# were ended, its password was changed or reset, or its two-factor codes were reset). Sent
# inside the transaction of that change.
credentials_revoked = Signal()
