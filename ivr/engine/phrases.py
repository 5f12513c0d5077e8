"""The built-in phrases: what the engine says by itself, in English, German, French and Spanish.

A step that does not give its own no-input, no-match, read-back, voicemail or consent prompt says these, in the
call's language (ivr/engine/language.py picks it), and a call that cannot go on ends with `goodbye`. Read-back
numbers are spelled out digit by digit (`|spell`), so each channel's voice for the language speaks the digits in
that language. `DIGIT_WORDS` and `YES` / `NO` are what a caller may say instead of pressing keys. A channel that
speaks by itself (the SIP channel's "use your keypad") takes its phrase from here too (`phrase`).
"""

from __future__ import annotations

LANGUAGES = ("en", "de", "fr", "es")

# The region each language's Say gets when a flow names only the language ("de" -> de-DE, as Twilio's <Say> wants).
DEFAULT_LOCALES = {"en": "en-US", "de": "de-DE", "fr": "fr-FR", "es": "es-ES"}

PHRASES: dict[str, dict[str, str]] = {
    "no_input": {
        "en": "Sorry, I didn't hear anything.",
        "de": "Entschuldigung, ich habe nichts gehört.",
        "fr": "Désolé, je n'ai rien entendu.",
        "es": "Lo siento, no he oído nada.",
    },
    "no_match": {
        "en": "Sorry, that isn't one of the options.",
        "de": "Entschuldigung, das ist keine der Möglichkeiten.",
        "fr": "Désolé, ce n'est pas l'une des options.",
        "es": "Lo siento, esa no es una de las opciones.",
    },
    # "%s" is the collect_digits step's save_as variable
    "confirm": {
        "en": "You entered {{%s|spell}}. Press 1 if that is correct, or 2 to enter it again.",
        "de": "Sie haben {{%s|spell}} eingegeben. Drücken Sie 1, wenn das stimmt, oder 2, um es neu einzugeben.",
        "fr": "Vous avez saisi {{%s|spell}}. Appuyez sur 1 si c'est correct, ou sur 2 pour recommencer.",
        "es": "Ha marcado {{%s|spell}}. Pulse 1 si es correcto, o 2 para marcarlo de nuevo.",
    },
    "voicemail": {
        "en": "Please leave a message after the tone. Press the pound key when you are done.",
        "de": "Bitte hinterlassen Sie nach dem Signalton eine Nachricht. "
        "Drücken Sie die Raute-Taste, wenn Sie fertig sind.",
        "fr": "Veuillez laisser un message après le bip. Appuyez sur la touche dièse lorsque vous avez terminé.",
        "es": "Por favor, deje un mensaje después de la señal. Pulse la tecla almohadilla cuando termine.",
    },
    "record_consent": {
        "en": "This call will be recorded.",
        "de": "Dieser Anruf wird aufgezeichnet.",
        "fr": "Cet appel sera enregistré.",
        "es": "Esta llamada será grabada.",
    },
    "goodbye": {
        "en": "Sorry, something went wrong and this call can no longer be continued. Please call again later. Goodbye.",
        "de": "Entschuldigung, etwas ist schiefgelaufen und dieser Anruf kann nicht fortgesetzt werden. "
        "Bitte rufen Sie später noch einmal an. Auf Wiederhören.",
        "fr": "Désolé, un problème est survenu et cet appel ne peut pas continuer. "
        "Veuillez rappeler plus tard. Au revoir.",
        "es": "Lo siento, algo ha fallado y esta llamada no puede continuar. Por favor, llame más tarde. Adiós.",
    },
    # said by the SIP channel instead of a prompt it cannot render (ivr/channels/sip/call.py)
    "unavailable": {
        "en": "Sorry, this message is unavailable.",
        "de": "Entschuldigung, diese Ansage ist nicht verfügbar.",
        "fr": "Désolé, ce message n'est pas disponible.",
        "es": "Lo siento, este mensaje no está disponible.",
    },
    # said by the SIP channel when its speech recognizer is saturated (ivr/channels/sip/speech_input.py)
    "use_keypad": {
        "en": "Sorry, I can't listen right now. Please use your keypad.",
        "de": "Entschuldigung, ich kann gerade nicht zuhören. Bitte benutzen Sie die Tastatur.",
        "fr": "Désolé, je ne peux pas écouter pour le moment. Veuillez utiliser le clavier.",
        "es": "Lo siento, ahora no puedo escuchar. Por favor, use el teclado.",
    },
}


def _digits(words: str, **more: str) -> dict[str, str]:
    """The ten digit words in order, zero first, plus other words for keys."""
    return dict(zip(words.split(), "0123456789"), **more)


# Spoken digits, per language (a caller's speech in a menu or collect_digits); English is always understood too.
DIGIT_WORDS: dict[str, dict[str, str]] = {
    "en": _digits("zero one two three four five six seven eight nine", oh="0", star="*", pound="#", hash="#"),
    "de": _digits("null eins zwei drei vier fünf sechs sieben acht neun", zwo="2", stern="*", raute="#"),
    "fr": _digits("zéro un deux trois quatre cinq six sept huit neuf", étoile="*", dièse="#"),
    "es": _digits("cero uno dos tres cuatro cinco seis siete ocho nueve", asterisco="*", almohadilla="#"),
}

YES: dict[str, frozenset[str]] = {
    "en": frozenset({"yes", "yeah", "yep", "correct", "right"}),
    "de": frozenset({"ja", "genau", "richtig", "stimmt"}),
    "fr": frozenset({"oui", "exact", "correct"}),
    "es": frozenset({"sí", "si", "correcto", "vale"}),
}
NO: dict[str, frozenset[str]] = {
    "en": frozenset({"no", "nope", "wrong"}),
    "de": frozenset({"nein", "falsch"}),
    "fr": frozenset({"non", "faux"}),
    "es": frozenset({"no", "incorrecto"}),
}


def phrase(name: str, language: str) -> str:
    """A built-in phrase in `language` (its primary language), else in English."""
    texts = PHRASES[name]
    return texts.get(primary(language or "en"), texts["en"])


def primary(tag: str) -> str:
    """The language of a tag: "de-AT" -> "de"."""
    return tag.split("-", 1)[0].lower()


def digit_words(language: str) -> dict[str, str]:
    """The words for digits a caller in `language` may say (English ones always count as well)."""
    words = dict(DIGIT_WORDS["en"])
    words.update(DIGIT_WORDS.get(primary(language), {}))
    return words


def hints(language: str, english: tuple[str, ...], confirm: bool = False) -> tuple[str, ...]:
    """What a recognizer is told to expect in `language`: `english` for English calls, else that language's digit
    words (with `confirm`, its yes and no words and the words for 1 and 2)."""
    lang = primary(language)
    if lang == "en" or lang not in DIGIT_WORDS:
        return english
    words = list(DIGIT_WORDS[lang])[:10]
    return (*sorted(YES[lang]), *sorted(NO[lang]), words[1], words[2]) if confirm else tuple(words)


def yes_no(language: str) -> tuple[frozenset[str], frozenset[str]]:
    lang = primary(language)
    return YES["en"] | YES.get(lang, frozenset()), NO["en"] | NO.get(lang, frozenset())
