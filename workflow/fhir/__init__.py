"""FHIR R4B in and out, built on ``fhir.resources``' R4B models.

Imported only by the ``ivig fhir`` commands and the FHIR API routes: a read command
never loads ``fhir.resources`` (it is large and slow to import).
"""
