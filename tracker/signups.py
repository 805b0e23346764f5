"""The signup forms the tag identifies from by itself, where the account's platform brings them
(`features.SIGNUPS`): the deployed tag's list, as CSS selectors the browser edge matches by event
delegation on the document (so a form added to the page later is handled too; no jQuery).

- CHANGED_FIELDS: a `change` of a matching field with a valid email address identifies;
- BX_FIELDS: the same, for Wunderkind (BounceX) overlays' email inputs, which also record a
  custom event BX_SIGNUP;
- SUBMITTED_FORMS: when a matching form is submitted, its email field (the second selector)
  identifies.

Never a password field (the browser edge checks). Pure: imports nothing.
"""

BX_SIGNUP = 'bx:signup'
BX_FIELDS = 'input[type=email][id^="bx-"]'
OMETRIA_FORM = 'form[action="https://api.ometria.com/forms/signup"]'
CHANGED_FIELDS = ('form[name=mc-form] input, #mc-email, ' + OMETRIA_FORM + ' input[name=ue], '
                  'input[name="checkout[email]"]')
SUBMITTED_FORMS = [
    ['form[name=mc-embedded-subscribe-form]', 'input[type=email], input[name=EMAIL]'],
    [OMETRIA_FORM, 'input[name=ue]'],
]
