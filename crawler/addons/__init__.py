"""Scrapy add-ons of the mirror (``ADDONS``): each switches a group of components on."""
