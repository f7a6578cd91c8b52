"""The feed's contract: what an appliance and a dashboard say to each other over MQTT.

Topics, the typed payload models with their limits, the command models, the label order, the
LSI scale and its bands, and the statistics both sides compute. The appliance (`edge`) builds
every message with it; the dashboard (`dashboard`) parses every message with it;
`docs/mqtt-schemas/` is generated from it (`python -m lsi_contract.schemas`). It imports
neither `edge` nor `dashboard`.
"""
