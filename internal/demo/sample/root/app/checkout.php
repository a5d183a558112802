<?php
// acme shop 2.4.1 — checkout
require __DIR__ . '/../lib/tax.php';
function checkout(array $items): float { return with_tax(cart_total($items)); }
