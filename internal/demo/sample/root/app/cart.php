<?php
// acme shop 2.4.1 — cart
function cart_total(array $items): float {
    $sum = 0.0;
    foreach ($items as $i) { $sum += $i['price'] * $i['qty']; }
    return $sum;
}
