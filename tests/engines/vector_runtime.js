// The vector harness in the page: decodes vector arguments and performs call steps on window.ometria.
window.__refs = {};
window.__decode = function (value) {
  if (Array.isArray(value)) { return value.map(__decode); }
  if (value && typeof value === 'object') {
    if ('$ref' in value) { return __refs[value.$ref]; }
    if ('$js' in value) {
      switch (value.$js) {
        case 'undefined': return undefined;
        case 'NaN': return NaN;
        case 'Infinity': return Infinity;
        case '-Infinity': return -Infinity;
        case 'cyclic': var c = {a: 1}; c.self = c; return c;
        case 'function': return function () {};
      }
      throw new Error('unknown ' + value.$js);
    }
    if ('$repeat' in value) { return value.$repeat[0].repeat(value.$repeat[1]); }
    var out = {};
    Object.keys(value).forEach(function (k) { out[k] = __decode(value[k]); });
    return out;
  }
  return value;
};
window.__perform = function (step) {
  var name = step.call, dot = name.lastIndexOf('.');
  var owner = dot < 0 ? window.ometria : __refs[name.slice(0, dot)];
  var method = name.slice(dot + 1);
  var args = (step.args || []).map(__decode);
  var result = method === 'Basket' ? new owner.Basket() : owner[method].apply(owner, args);
  if (step.as) { __refs[step.as] = result; }
};
