"""Formatting, masking, paging, downloads and charts: the last step of the data path."""
