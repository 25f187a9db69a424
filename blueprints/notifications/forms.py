from wtforms import RadioField, SubmitField

from models.notification import Channel, NoticeKind
from web.forms import Form


class PreferencesForm(Form):
    """One choice per kind: in the app only, by mail at once, or in the daily digest."""

    save = SubmitField("保存设置")

    @classmethod
    def for_kinds(cls, current: dict, **kwargs) -> "PreferencesForm":
        class Bound(cls):
            pass

        for kind in NoticeKind:
            setattr(
                Bound,
                f"kind_{kind.value}",
                RadioField(kind.label, choices=Channel.choices(), default=current[kind].value),
            )
        return Bound(**kwargs)

    def chosen(self) -> dict[NoticeKind, Channel]:
        return {
            kind: Channel(getattr(self, f"kind_{kind.value}").data)
            for kind in NoticeKind
            if getattr(self, f"kind_{kind.value}").data in Channel._value2member_map_
        }
