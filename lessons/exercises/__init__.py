"""The built-in exercises of itc-lab, one TOML file each (read by ``itc_lab.exercises``)."""
