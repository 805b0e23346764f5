"""A test-only entry point: publishes the tag's pure functions as `window.__probe`, so that the
parity test can run them compiled, in Chromium, and compare with CPython. Never shipped."""

# __pragma__ ('skip')
window = None
# __pragma__ ('noskip')

from tracker import (  # noqa: E402
    attribution,
    coerce,
    consent,
    consent_tools,
    doctor,
    events,
    identity,
    outbox,
    prims,
    session,
    urls,
)


def worded(notes):
    """The notes as the debug overlay words them (what a developer sees)."""
    texts = []
    for note in notes:
        prims.append(texts, doctor.line_text('note', note[0], prims.slice_list(note, 1, None)))
    return texts


window.__probe = {
    'prims.number_text': prims.number_text,
    'prims.parse_decimal': prims.parse_decimal,
    'prims.keep_chars': prims.keep_chars,
    'prims.trim': prims.trim,
    'prims.lower': prims.lower,
    'prims.split_text': prims.split_text,
    'prims.substring': prims.substring,
    'prims.url_encode': prims.url_encode,
    'prims.url_decode': prims.url_decode,
    'prims.utf8_length': prims.utf8_length,
    'prims.hash_text': prims.hash_text,
    'prims.matches': prims.matches,
    'prims.is_string': prims.is_string,
    'prims.is_number': prims.is_number,
    'prims.is_bool': prims.is_bool,
    'prims.is_list': prims.is_list,
    'prims.is_plain_object': prims.is_plain_object,
    'prims.is_finite': prims.is_finite,
    'prims.floor': prims.floor,
    'prims.byte_hex': prims.byte_hex,
    'prims.utc_day': prims.utc_day,
    'prims.to_json': prims.to_json,
    'prims.from_json': prims.from_json,
    'prims.replace_lone_surrogates': prims.replace_lone_surrogates,
    'prims.find': prims.find,
    'prims.starts_with': prims.starts_with,
    'prims.slice_list': prims.slice_list,
    'prims.find_item': prims.find_item,
    'prims.keys_of': prims.keys_of,
    'coerce.coerce_id': coerce.coerce_id,
    'coerce.coerce_money': coerce.coerce_money,
    'coerce.coerce_quantity': coerce.coerce_quantity,
    'coerce.coerce_text': coerce.coerce_text,
    'coerce.coerce_stage': coerce.coerce_stage,
    'coerce.coerce_object': coerce.coerce_object,
    'doctor.describe': doctor.describe,
    'worded': worded,
    'identity.valid_identity': identity.valid_identity,
    'session.parse_cookie_value': session.parse_cookie_value,
    'session.read_visitor': session.read_visitor,
    'session.cookie_domain': session.cookie_domain,
    'session.cookie_value': session.cookie_value,
    'outbox.classify': outbox.classify,
    'outbox.retry_delay_ms': outbox.retry_delay_ms,
    'outbox.retry_after_ms': outbox.retry_after_ms,
    'events.new_uuid': events.new_uuid,
    'events.page_url': events.page_url,
    'consent.settings_from': consent.settings_from,
    'consent.initial_state': consent.initial_state,
    'consent_tools.cookiebot_decision': consent_tools.cookiebot_decision,
    'consent_tools.onetrust_decision': consent_tools.onetrust_decision,
    'consent_tools.gcm_decision': consent_tools.gcm_decision,
    'urls.without_params': urls.without_params,
    'urls.host_of': urls.host_of,
    'attribution.landing_source': attribution.landing_source,
}
