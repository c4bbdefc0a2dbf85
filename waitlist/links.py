"""Links to waitlist offers in messages: `<PORTAL_URL>/waitlist/offers/<token>/`.

The token is 144 random bits, never anything about the patient or the offer; only its SHA-256
hash is stored (OfferLink), as for the appointments' one-click links (bookings.links). Each
message gets its own link, made as it is sent. A link opens its offer for the offer's patient,
logged in, while the offer is open; nothing else.
"""

import secrets

from django.urls import reverse

from bookings.links import MAX_TOKEN_LENGTH, TOKEN_BYTES, hash_token, portal_url
from waitlist.models import OfferLink, WaitlistOffer


def issue(offer, *, now):
    """A new link to `offer`, as an absolute URL; "" when no PORTAL_URL is set or the offer is
    no longer open."""
    if not portal_url() or not offer.is_open(now):
        return ""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    OfferLink.objects.create(offer=offer, token_hash=hash_token(token), created_at=now)
    return f"{portal_url()}{reverse('waitlist:offer', kwargs={'token': token})}"


def find(token, *, now):
    """The open offer `token` opens (its entry, patient, doctor and clinic read with it), or None
    for a wrong token or an offer no longer open: one query whichever it is."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        token = ""
    offer = (
        WaitlistOffer.objects.select_related("entry__patient", "doctor__department", "clinic")
        .filter(links__token_hash=hash_token(token))
        .first()
    )
    if offer is None or not offer.is_open(now):
        return None
    return offer
