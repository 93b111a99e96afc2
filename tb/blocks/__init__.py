"""Per-module smoke tests of rtl/.

Simulator side ``cocotb_<module>.py``, pytest runners ``test_<module>.py``.
"""
