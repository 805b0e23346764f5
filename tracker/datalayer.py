"""The Magento data layer: `window.ometria.raw_data`, read into the arguments of `init`.

The Magento 1 and 2 extensions never pass arguments to `init`; they write `raw_data` before the
tag loads (type, store, data, query...) and call `ometria.init()` again after a variant pick, with
`raw_data.data` set to the child product. This module turns `raw_data` into what `init` records:
{'page_type', 'page_data', 'store_id', 'order_id'}.

Pure: imports only `prims`.
"""

from tracker import prims


def read_raw_data(raw):
    """The init arguments `raw_data` describes, or None when `raw` is not a data-layer object.

    - page type: `type` (None when absent: "other" pages);
    - store id: `store` (a number or a string);
    - page data: product pages `{pid: data.id}` (none when `data` is false), search pages
      `{query}`, checkout pages `{step: data.step}`;
    - order id: confirmation pages' `data.id`, recorded as a transaction after the pageview."""
    if not prims.is_plain_object(raw):
        return None
    page_type = prims.read_key(raw, 'type')
    data = prims.read_key(raw, 'data')
    page_data = {}
    order_id = None
    if not prims.is_plain_object(data):
        data = None
    if page_type == 'product' and data != None and prims.has_key(data, 'id'):
        page_data['pid'] = data['id']
    elif page_type == 'search' and prims.has_key(raw, 'query'):
        page_data['query'] = raw['query']
    elif page_type == 'checkout' and data != None and prims.has_key(data, 'step'):
        page_data['step'] = data['step']
    elif page_type == 'confirmation' and data != None and prims.has_key(data, 'id'):
        order_id = data['id']
    return {
        'page_type': page_type,
        'page_data': page_data,
        'store_id': prims.read_key(raw, 'store'),
        'order_id': order_id,
    }
