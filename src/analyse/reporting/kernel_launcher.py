"""The kernel of a batch report: ipykernel as ``python -m ipykernel_launcher`` starts it, without the debugger.

ipykernel imports debugpy at start (≈ 0.1 s CPU of a kernel's ≈ 0.4 s) to offer JupyterLab's visual
debugger; a report run by papermill never debugs, and ipykernel treats a debugpy that cannot be imported
as not installed. Notebooks opened in JupyterLab keep the usual kernel.
"""

import sys

if __name__ == "__main__":
    sys.modules.setdefault("debugpy", None)     # None: ``import debugpy`` raises ImportError
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
