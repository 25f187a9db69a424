"""The base of every form (WTForms' own messages in Simplified Chinese) and shared bits."""

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget


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
