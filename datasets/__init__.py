"""Data files and cards of itc-lab's datasets (read by ``itc_lab.datasets``)."""
