"""The base of every form (WTForms' own messages in Simplified Chinese) and shared bits."""

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from services.passwords import password_problem


class Form(FlaskForm):
    class Meta:
        locales = ("zh_CN", "zh")


def strip(value):
    """Field filter: trim surrounding whitespace from text input."""
    return value.strip() if isinstance(value, str) else value


class CheckboxList(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes (easier than Ctrl-click on a phone)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NewPasswordMixin:
    """The new password and its confirmation, checked against the policy."""

    username_for_policy = ""

    def validate_new_password(self, field):
        problem = password_problem(field.data or "", self.username_for_policy)
        if problem:
            raise ValidationError(problem)
