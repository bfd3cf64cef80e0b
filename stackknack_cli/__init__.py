"""stackknack: one inventory kept in sync across Shopify, eBay, StockX and Clover."""

__version__ = "0.1.0"
