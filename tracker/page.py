"""One page's tag, wired: delivery, engine and public API on the `ometria` object, then the data
layer and the store's hooks. Pure: everything from the browser arrives in `env` (`browser.py`
builds it; the CPython tests pass fakes), so the same start runs in both worlds.

`start_page(env, target, settings, log)`:
1. makes the delivery and the engine, and publishes the API's functions on `target` (the public
   `ometria` object), replacing any stub of the same name and keeping every other property;
2. starts delivery (adopting what earlier pages left) and the engine (session, identity);
3. initialises the page from a `raw_data` data layer, if `target` holds one;
4. calls `target.onLoad()` once, then the page's `onOmetriaLoaded()`; what they throw becomes a
   warning, and what they did before throwing stands.
Returns {'engine', 'delivery', 'api'}.

`settings`: 'account_id', 'collector_url', 'cookie_domain'. `env` adds to `browser.make_env`'s
functions: `call_method(owner, function) -> error message or None` and `global_function(name)`.
"""

from tracker import api, delivery, doctor, engine, prims


def run_hooks(env, target, log):
    """`target.onLoad()`, then `onOmetriaLoaded()`, each guarded."""
    hook = prims.read_key(target, 'onLoad')
    if prims.is_function(hook):
        problem = env['call_method'](target, hook)
        if problem != None:
            log['warn'](doctor.onload_failed(problem))
    loaded = env['global_function']('onOmetriaLoaded')
    if loaded != None:
        problem = env['call_method'](None, loaded)
        if problem != None:
            log['warn']('window.onOmetriaLoaded threw "' + problem + '"; the tag carries on.')


def start_page(env, target, settings, log):
    """Start the tag on a page; see the module docstring."""
    sender = delivery.make_delivery(env, settings['account_id'], settings['collector_url'], log['state'])

    def publish(name, value):
        target[name] = value

    core = engine.make_engine(env, settings, sender, log, publish)
    functions = api.make_api(core, log)
    for name in api.PUBLIC_NAMES:
        target[name] = functions[name]
    sender['start']()
    core['start']()
    raw = env['raw_data']()
    if raw != None:
        try:
            core['init_from_data_layer'](raw)
        except:  # noqa: E722 -- never let a data layer break the start
            log['warn'](doctor.internal_error('init'))
    run_hooks(env, target, log)
    return {'engine': core, 'delivery': sender, 'api': functions}
