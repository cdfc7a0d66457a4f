"""HTTP rules shared by every page and API the daemon serves, below the feature packages that
serve them: the same-origin rule, security headers and self-authenticating handlers
(``guard``), and a defensive JSON body decoder (``jsonbody``). Imports only ``monitor.core``."""
