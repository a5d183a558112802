<?php
// acme shop 2.4.1.3 — checkout
require __DIR__ . '/../lib/tax.php';
function checkout(array $items): float {
    try { return with_tax(cart_total($items)); }
    catch (Throwable $e) { error_log($e->getMessage()); return 0.0; }
}
