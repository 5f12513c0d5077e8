"""The Twilio channel: TwiML voice (voice.py), SMS text mode (sms.py), request signatures (signature.py) and the
/twilio/* webhooks (views.py, sms_view.py)."""
