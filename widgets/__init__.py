"""Front-end files (ES modules and CSS) of itc-lab's widgets."""
