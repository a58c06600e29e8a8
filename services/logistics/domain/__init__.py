"""Logistics rules that need no database, one module per guarantee.

- `incoterms`: a quote names real places (UN/LOCODE) and an Incoterms 2020 rule, and is only offered
  in the modes that rule allows (FAS/FOB/CFR/CIF: sea only).
- `ratecards`: a rate card is immutable and self-consistent; the newest valid version per carrier wins.
- `weight`: parcels are bounded; chargeable weight is max(actual, volumetric) of the consignment,
  rounded up per the card (or the mode's default) and floored at its minimum.
- `pricing`: every charge is in the card's currency, rounded half-even once; a lane nobody serves is
  an empty answer with a reason; a quote books only while valid and heavy enough.
- `tracking`: the shipment lifecycle (shared/state_machine.py) and its timeline: duplicates ignored,
  out-of-order events sorted, status follows the latest actual event, dispatch/delivery emitted once.

Sources: DOMAIN.md section 5 (Incoterms 2020, volumetric divisors, W/M, surcharges, tracking
vocabulary) and section 7 (money). Configurable figures live in `config.py`. Import from the module
that holds a name (`from services.logistics.domain.pricing import quote`).
"""
