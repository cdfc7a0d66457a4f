"""QR labels on the equipment (设备二维码): ``trunkwatch inspections labels`` prints a sheet of
them, one per inspected asset, with its name, id and site in Chinese and English; scanning one
on a tablet opens ``/inspections/asset/ID``, which leads (through sign-in when needed) to that
asset's current rounds.

The parts, one concept each: ``settings`` (the ``inspections.labels`` section: the base URL
the labels open, the PDF's font), ``sheet`` (which assets, their URLs and QR codes, the HTML
sheet), ``pdf`` (the same sheet as a PDF with its CJK font embedded) and ``web`` (the page a
label opens).
"""
