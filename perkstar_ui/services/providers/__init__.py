"""Message providers: email over SMTP, SMS over a Twilio-style HTTP API, Web Push.
Each speaks its real protocol; ``base`` says what the outbox hands them and gets back."""
