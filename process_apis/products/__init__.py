"""ERP items → Salesforce products and ERP list prices → price book entries and dated,
quantity-band ERP prices (``sync``)."""

from process_apis.products.sync import ItemsRunner, PricesRunner, ProductCatalog

__all__ = ["ItemsRunner", "PricesRunner", "ProductCatalog"]
