"""The RapidSMS contrib handlers that tests/test_contrib_apps.py routes SMS to."""

from rapidsms.contrib.handlers import KeywordHandler, PatternHandler


class FavouriteHandler(KeywordHandler):
    """``fav <colour>`` is answered with the colour, ``fav`` alone with its help."""

    keyword = "fav"

    def help(self):
        self.respond("Send FAV and your favourite colour.")

    def handle(self, text):
        self.respond(f"Your favourite colour is {text}.")


class SumHandler(PatternHandler):
    """``<a> plus <b>`` is answered with the sum."""

    pattern = r"^(\d+) plus (\d+)$"

    def handle(self, a, b):
        self.respond(f"{a} plus {b} is {int(a) + int(b)}.")
