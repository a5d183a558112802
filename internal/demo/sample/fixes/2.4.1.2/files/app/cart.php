<?php
// acme shop 2.4.1.2 — cart
require __DIR__ . '/../lib/coupon.php';
function cart_total(array $items, array $coupons = []): float {
    $sum = 0.0;
    foreach ($items as $i) { $sum += $i['price'] * $i['qty']; }
    return max(0.0, apply_coupons($sum, $coupons));
}
