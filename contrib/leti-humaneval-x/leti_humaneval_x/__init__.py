"""JavaScript and C++ for LeTI: the `javascript` and `cpp` environments and the HumanEval-X tasks."""
